// collab-editor: a shared document (an RGA text) with a title (a last-writer-wins register) and a
// count of edits (a grow-only counter). Concurrent insertions at one place on several nodes
// converge to one text, each kept whole (the original's collaborative-editor example).
import { args, emit, returnJson, returnJsonWriter, JsonWriter, Text, LwwRegister, GCounter, JSONValue, JSONKind } from "../../../sdk/assemblyscript/index"

const doc = new Text("document")
const title = new LwwRegister("title")
const edits = new GCounter("edits")

function changed(kind: string, a: JSONValue, keys: string[]): void {
  const w = new JsonWriter()
  w.beginObject()
  for (let i = 0; i < keys.length; i++) {
    const v = a.get(keys[i])
    w.key(keys[i])
    if (v === null) w.null()
    else if (v.isNull()) w.null()
    else if (v.kind == JSONKind.String) w.string(v.str)
    else w.int(<i64>v.num)
  }
  w.endObject()
  emit(kind, w.toString())
  edits.increment()
}

/** init(title?, text?) */
export function init(): void {
  const a = args()
  a.allowOnly(["title", "text"])
  const t = a.optionalString("title")
  if (t !== null) title.set(t!)
  const text = a.optionalString("text")
  if (text !== null && text!.length > 0) doc.insert(0, text!)
}

/** insert_text(position, text) → the new length (code points); emits TextInserted. */
export function insert_text(): void {
  const a = args()
  a.allowOnly(["position", "text"])
  const length = doc.insert(a.requireIndex("position"), a.requireString("text"))
  changed("TextInserted", a, ["position", "text"])
  returnJson(length.toString())
}

/** delete_text(start, end) → how many code points went; emits TextDeleted. */
export function delete_text(): void {
  const a = args()
  a.allowOnly(["start", "end"])
  const start = a.requireIndex("start")
  const end = a.requireIndex("end")
  const deleted = end > start ? doc.delete(start, end - start) : 0
  if (deleted > 0) changed("TextDeleted", a, ["start", "end"])
  returnJson(deleted.toString())
}

/** replace_text(start, end, text) → the new length; one edit. */
export function replace_text(): void {
  const a = args()
  a.allowOnly(["start", "end", "text"])
  const start = a.requireIndex("start")
  const end = a.requireIndex("end")
  if (end > start) doc.delete(start, end - start)
  const length = doc.insert(start, a.requireString("text"))
  changed("TextReplaced", a, ["start", "end", "text"])
  returnJson(length.toString())
}

/** append_text(text) → the new length. */
export function append_text(): void {
  const a = args()
  a.allowOnly(["text"])
  const length = doc.append(a.requireString("text"))
  changed("TextInserted", a, ["text"])
  returnJson(length.toString())
}

/** get_text(start?, end?) → the text, or code points [start, end) of it (a view). */
export function get_text(): void {
  const a = args()
  a.allowOnly(["start", "end"])
  const w = new JsonWriter()
  w.string(doc.read(a.optionalIndex("start", 0), a.optionalIndex("end", i64.MAX_VALUE)))
  returnJsonWriter(w)
}

/** get_length() → code points (a view). */
export function get_length(): void {
  args().allowOnly([])
  returnJson(doc.len().toString())
}

/** set_title(title) → the previous title; emits TitleChanged. */
export function set_title(): void {
  const a = args()
  a.allowOnly(["title"])
  const previous = title.set(a.requireString("title"))
  changed("TitleChanged", a, ["title"])
  const w = new JsonWriter()
  w.nullable(previous)
  returnJsonWriter(w)
}

/** get_title() (a view). */
export function get_title(): void {
  args().allowOnly([])
  const w = new JsonWriter()
  w.nullable(title.get())
  returnJsonWriter(w)
}

/** get_document() → {title, text, length, edits} (a view). */
export function get_document(): void {
  args().allowOnly([])
  const w = new JsonWriter()
  w.beginObject()
  w.key("title"); w.nullable(title.get())
  w.key("text"); w.string(doc.read())
  w.key("length"); w.int(doc.len())
  w.key("edits"); w.uint(edits.value())
  w.endObject()
  returnJsonWriter(w)
}
