#!/usr/bin/env node
// The `coffer` command. A file of its own rather than dist/src/main.js: npm links a workspace's
// commands at `npm ci`, before the build has made dist, and leaves out a target that does not exist.
import '../dist/src/main.js';
