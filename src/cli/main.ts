#!/usr/bin/env node
// The heliostat executable.
import { run } from './run.js';

process.exitCode = await run(process.argv.slice(2));
