export * from './types';
export * from './codec';
export * from './compare';
export * from './json';
