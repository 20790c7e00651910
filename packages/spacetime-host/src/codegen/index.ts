// Client codegen and module description: `spacetime generate --lang typescript` and
// `spacetime describe --json` for modules loaded by this host.
export { generateBindings, BINDINGS_SDK_VERSION, GENERATED_FILE_PREFIX, type GenerateOptions } from './typescript';
export { writeBindings, type WriteBindingsResult } from './write';
export { describeModule, type Json } from './describe';
export { CodegenError } from './model';
export { toCamelCase, toPascalCase, toSnakeCase } from './case';
