/** Bundles a TS/JS entry with esbuild (cached by input fingerprints) and evaluates it anew. */
export declare function loadBundled(file: string): unknown;
