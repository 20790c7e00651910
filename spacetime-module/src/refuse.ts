// The one way the module refuses a call: a SenderError whose text leads with a code from the
// closed list in errors.ts (`[code] text`), so clients branch on the code and people read the text.
// Kept apart from errors.ts, which must stay free of spacetimedb imports for client bundles.
import { SenderError } from 'spacetimedb/server';
import { formatWorldError, type WorldErrorCode } from './errors';

export function refuse(code: WorldErrorCode, message: string): SenderError {
  return new SenderError(formatWorldError(code, message));
}
