/** The audit package: decision-log entries, the decision-log sink, its hash chain, the ops log. */
export { decisionToLogEntry, DECISION_LOG_FIELDS, CHAIN_FIELDS, type DecisionLogEntry } from './entry.js';
export { createDecisionLog, logFileProblem, type DecisionLog, type DecisionLogOptions } from './decision-log.js';
export type { LogLevel } from '../config/config.js';
export { ChainVerifier, GENESIS_HASH, hashLine, readChainHead, type ChainHead, type VerifyResult, type VerifyOptions } from './chain.js';
export { createOpsLogger, type OpsLogger } from './ops-log.js';
