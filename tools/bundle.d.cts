/** Bundles a TS/JS entry with esbuild (cached by input fingerprints unless `cache: false`) and evaluates it anew. */
export declare function loadBundled(file: string, options?: { readonly cache?: boolean }): unknown;
