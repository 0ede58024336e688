// file-share: files shared in a context. The bytes are blobs (`meroctl blob add`); the app keeps
// each file's name, blob id, size, type, uploader and time in a sorted map (pages, prefix search),
// and shares the blob with the context's members, who fetch it from the uploader's node with
// `meroctl blob get <blob id> --context <context>` (the original's blobs example).
import { args, emit, returnJsonWriter, JsonWriter, SortedMap, Blobs, executorId, timeNow, toBase58, panic } from "../../../sdk/assemblyscript/index"

const files = new SortedMap("files")

/** upload_file(name, blob_id, size, mime_type): the blob must be on this node, with that size; emits FileUploaded. */
export function upload_file(): void {
  const a = args()
  a.allowOnly(["name", "blob_id", "size", "mime_type"])
  const name = a.requireString("name")
  if (name.length == 0 || name.length > 255) panic("a file name is 1 to 255 characters")
  const blobId = a.requireString("blob_id")
  const size = a.requireIndex("size")
  const mime = a.requireString("mime_type")
  const held = Blobs.announce(blobId)
  if (held < 0) panic("blob " + blobId + " is not on this node: add the file first (meroctl blob add <file>)")
  if (held != size) panic("blob " + blobId + " is " + held.toString() + " bytes, not " + size.toString())
  const w = new JsonWriter()
  w.beginObject()
  w.key("name"); w.string(name)
  w.key("blobId"); w.string(blobId)
  w.key("size"); w.int(size)
  w.key("mimeType"); w.string(mime)
  w.key("uploader"); w.string(toBase58(executorId()))
  w.key("uploadedAt"); w.uint(timeNow() / 1000000)
  w.endObject()
  const meta = w.toString()
  const replaced = files.set(name, meta)
  emit(replaced === null ? "FileUploaded" : "FileReplaced", meta)
  const out = new JsonWriter()
  out.raw(meta)
  returnJsonWriter(out)
}

/** A page of files (stored JSON) as a JSON array. */
function listing(prefix: string | null, offset: i64, limit: i64): void {
  const w = new JsonWriter()
  w.beginArray()
  const c = prefix === null ? files.cursor(null, null, <u64>offset, <u64>limit) : files.prefixCursor(prefix!, <u64>offset, <u64>limit)
  while (c.next()) w.rawUtf8(c.valuePtr, c.valueLen)
  w.endArray()
  returnJsonWriter(w)
}

/** list_files(offset?, limit?) → files by name (a view). */
export function list_files(): void {
  const a = args()
  a.allowOnly(["offset", "limit"])
  listing(null, a.optionalIndex("offset", 0), a.optionalIndex("limit", 100))
}

/** search_files(prefix, offset?, limit?) → the files whose name starts with `prefix` (a view). */
export function search_files(): void {
  const a = args()
  a.allowOnly(["prefix", "offset", "limit"])
  listing(a.requireString("prefix"), a.optionalIndex("offset", 0), a.optionalIndex("limit", 100))
}

/** get_file(name) → the file or null (a view). */
export function get_file(): void {
  const a = args()
  a.allowOnly(["name"])
  const meta = files.get(a.requireString("name"))
  const w = new JsonWriter()
  if (meta === null) w.null()
  else w.raw(meta!)
  returnJsonWriter(w)
}

/** count() → how many files (a view). */
export function count(): void {
  args().allowOnly([])
  const w = new JsonWriter()
  w.int(files.len())
  returnJsonWriter(w)
}

/** delete_file(name) → whether it was there; emits FileDeleted. */
export function delete_file(): void {
  const a = args()
  a.allowOnly(["name"])
  const name = a.requireString("name")
  const gone = files.remove(name)
  const w = new JsonWriter()
  if (gone !== null) {
    const e = new JsonWriter()
    e.beginObject()
    e.key("name"); e.string(name)
    e.endObject()
    emit("FileDeleted", e.toString())
  }
  w.bool(gone !== null)
  returnJsonWriter(w)
}
