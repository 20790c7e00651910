// Untyped syntax tree produced by the parser; names are resolved and literals typed in compile.ts.

/** Literal text as written; its value is fixed only once the compared column's type is known. */
export type Literal =
  | { kind: 'num'; text: string }
  | { kind: 'str'; text: string }
  | { kind: 'hex'; text: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' };

export interface ColumnRef {
  kind: 'column';
  qualifier: string | undefined;
  name: string;
  pos: number;
}

export type Operand = ColumnRef | { kind: 'literal'; lit: Literal; pos: number } | { kind: 'param'; name: string; pos: number };

export type CmpOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Pred =
  | { kind: 'and'; args: Pred[] }
  | { kind: 'or'; args: Pred[] }
  | { kind: 'not'; arg: Pred }
  | { kind: 'cmp'; op: CmpOp; left: Operand; right: Operand; pos: number }
  /** A bare operand used as a condition: TRUE, FALSE or a Bool column. */
  | { kind: 'operand'; operand: Operand };

export interface RelRef {
  name: string;
  alias: string | undefined;
  pos: number;
}

export interface JoinClause {
  rel: RelRef;
  on: { left: ColumnRef; right: ColumnRef; pos: number };
}

export type Projection =
  | { kind: 'star' }
  | { kind: 'qualifiedStar'; qualifier: string; pos: number }
  | { kind: 'count'; alias: string | undefined }
  | { kind: 'columns'; items: { column: ColumnRef; alias: string | undefined }[] };

export interface SelectStmt {
  projection: Projection;
  from: RelRef;
  join: JoinClause | undefined;
  where: Pred | undefined;
  /** LIMIT as written (ad hoc queries only). */
  limit: { text: string; pos: number } | undefined;
}
