// Identifier casing as upstream codegen does it (Rust `convert_case` 0.6, default boundaries):
// words split by `splitWords`, then joined per case. File names, accessors and type names in
// generated bindings all go through these, so they must match upstream exactly.
import { splitWords, toSnakeCase } from '../module/names';

const capitalize = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1).toLowerCase();

/** `player_1_id` → `Player1Id`, `HTTPServer` → `HttpServer`. */
export function toPascalCase(name: string): string {
  return splitWords(name).map(capitalize).join('');
}

/** `player_1_id` → `player1Id`, `Player1` → `player1`. */
export function toCamelCase(name: string): string {
  return splitWords(name)
    .map((word, i) => (i === 0 ? word.toLowerCase() : capitalize(word)))
    .join('');
}

export { toSnakeCase };
