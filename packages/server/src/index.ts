export { startServer } from './server.js';
export type { RunningServer, StartOptions } from './server.js';
export { DEFAULT_CONFIG } from './config.js';
export type { ServerConfig } from './config.js';
export { StartupError } from './root/root-key.js';
export { jsonLogger, silentLogger } from './log.js';
export type { Logger, LogLevel } from './log.js';
export { verifyAuditTrail } from './audit/verify-data-dir.js';
export type { ChainVerdict } from './audit/chain.js';
