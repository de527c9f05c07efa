/**
 * hash-wasm's sha256-only build. Its ESM entry holds every algorithm's WebAssembly (about 230 KB more in the Lambda
 * bundle, which esbuild cannot shake out); this one holds sha256's alone, with the same API.
 */
declare module 'hash-wasm/dist/sha256.umd.min.js' {
  import type { createSHA256 } from 'hash-wasm';

  const hashWasm: { createSHA256: typeof createSHA256 };
  export default hashWasm;
}
