#!/usr/bin/env node
// Entry point of the `meridian` command; the TypeScript is compiled to dist/ by `npm ci` (prepare).
import '../dist/apps/cli/main.js';
