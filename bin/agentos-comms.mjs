#!/usr/bin/env node
// Package bin: runs the TypeScript entry point through tsx. MCP stdio clients
// (Claude Desktop) should launch this (or `node --import tsx src/main.ts`)
// directly with `--stdio`, never `npm start`, whose banner goes to stdout.
import { register } from "tsx/esm/api"
register()
await import("../src/main.ts")
