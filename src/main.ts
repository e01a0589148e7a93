#!/usr/bin/env node
console.log("depositd: CLI coming in this session");
