// Entry of `npm run plan` (see tools/plan/main.ts).
"use strict";
const path = require("node:path");
process.argv.splice(2, 0, path.join(__dirname, "plan", "main.ts"));
require("./run-ts.cjs");
