/**
 * What the offline engine (tools/engine) hands the program for a secure stack value it cannot
 * decrypt. Here, not in the engine, so the program's config validation can recognise it without
 * importing the tooling that runs it.
 */
export const OFFLINE_SECRET = "[secret: encrypted in the stack config, not readable offline]";
