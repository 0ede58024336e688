// The part of sodium-native (libsodium bindings) that mero uses.
declare module 'sodium-native' {
  export const crypto_sign_BYTES: number
  export const crypto_sign_PUBLICKEYBYTES: number
  export const crypto_sign_SECRETKEYBYTES: number
  export const crypto_sign_SEEDBYTES: number
  export function crypto_sign_seed_keypair(publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void
  export function crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void
  export function crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
  export function crypto_hash_sha256(output: Uint8Array, input: Uint8Array): void
  export const crypto_aead_chacha20poly1305_ietf_NPUBBYTES: number
  export const crypto_aead_chacha20poly1305_ietf_ABYTES: number
  export const crypto_aead_chacha20poly1305_ietf_KEYBYTES: number
  export function crypto_aead_chacha20poly1305_ietf_encrypt(ciphertext: Uint8Array, message: Uint8Array, ad: Uint8Array | null, nsec: null, nonce: Uint8Array, key: Uint8Array): number
  export const crypto_box_SEALBYTES: number
  export const crypto_box_PUBLICKEYBYTES: number
  export const crypto_box_SECRETKEYBYTES: number
  export function crypto_sign_ed25519_pk_to_curve25519(curvePublicKey: Uint8Array, edPublicKey: Uint8Array): void
  export function crypto_sign_ed25519_sk_to_curve25519(curveSecretKey: Uint8Array, edSecretKey: Uint8Array): void
  export function crypto_box_seal(ciphertext: Uint8Array, message: Uint8Array, publicKey: Uint8Array): void
  export function crypto_box_seal_open(message: Uint8Array, ciphertext: Uint8Array, publicKey: Uint8Array, secretKey: Uint8Array): boolean
  export function crypto_aead_chacha20poly1305_ietf_decrypt(message: Uint8Array, nsec: null, ciphertext: Uint8Array, ad: Uint8Array | null, nonce: Uint8Array, key: Uint8Array): number
  export const crypto_aead_xchacha20poly1305_ietf_NPUBBYTES: number
  export const crypto_aead_xchacha20poly1305_ietf_ABYTES: number
  export function crypto_aead_xchacha20poly1305_ietf_encrypt(ciphertext: Uint8Array, message: Uint8Array, ad: Uint8Array | null, nsec: null, nonce: Uint8Array, key: Uint8Array): number
  export function crypto_aead_xchacha20poly1305_ietf_decrypt(message: Uint8Array, nsec: null, ciphertext: Uint8Array, ad: Uint8Array | null, nonce: Uint8Array, key: Uint8Array): number
  export function crypto_generichash(output: Uint8Array, input: Uint8Array, key?: Uint8Array): void
  export function randombytes_buf(buffer: Uint8Array): void
}
