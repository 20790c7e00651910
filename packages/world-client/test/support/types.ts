export type { DeliveredMessage } from '../../src/index';
export type { TestClient } from './world';
