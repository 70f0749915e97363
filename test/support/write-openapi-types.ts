// Writes test/generated/personas-api.d.ts from the current document (npm run
// generate:openapi-types -w test); test/openapi-typescript-client checks it never drifts.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { GENERATED_TYPES, generateOpenApiTypes } from './openapi-types';

await writeFile(GENERATED_TYPES, await generateOpenApiTypes());
console.log(`wrote ${fileURLToPath(GENERATED_TYPES)}`);
