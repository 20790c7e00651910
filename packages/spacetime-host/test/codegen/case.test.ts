// Casing must match upstream's convert_case exactly: generated file names, accessors and type
// names are derived from it, and the SDK looks tables and reducers up by these names.
import { describe, expect, it } from 'vitest';
import { toCamelCase, toPascalCase, toSnakeCase } from '../../src/codegen/case';

describe('identifier casing', () => {
  it.each([
    // [input, camel, Pascal, snake] — pairs seen in upstream's committed bindings and docs.
    ['Player1', 'player1', 'Player1', 'player_1'],
    ['person_2', 'person2', 'Person2', 'person_2'],
    ['PersonAtLevel2', 'personAtLevel2', 'PersonAtLevel2', 'person_at_level_2'],
    ['person_at_level_2', 'personAtLevel2', 'PersonAtLevel2', 'person_at_level_2'],
    ['player_1_id', 'player1Id', 'Player1Id', 'player_1_id'],
    ['First3Name', 'first3Name', 'First3Name', 'first_3_name'],
    ['sayHello', 'sayHello', 'SayHello', 'say_hello'],
    ['say_hello', 'sayHello', 'SayHello', 'say_hello'],
    ['HTTPServer', 'httpServer', 'HttpServer', 'http_server'],
    ['myJSONParser', 'myJsonParser', 'MyJsonParser', 'my_json_parser'],
    ['status3Field', 'status3Field', 'Status3Field', 'status_3_field'],
    ['__leading__and--dashes', 'leadingAndDashes', 'LeadingAndDashes', 'leading_and_dashes'],
  ])('%s → %s / %s / %s', (input, camel, pascal, snake) => {
    expect(toCamelCase(input)).toBe(camel);
    expect(toPascalCase(input)).toBe(pascal);
    expect(toSnakeCase(input)).toBe(snake);
  });
});
