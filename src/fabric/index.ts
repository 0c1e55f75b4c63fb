/** Service fabric: the broker factory, typed calls, validation and error transport. */
export { createBroker, type BrokerSettings } from './createBroker.js';
export { call, broadcast, CALL_POLICY, type Caller, type Broadcaster } from './call.js';
export { toMeridianError, isTransientBrokerError, MeridianRegenerator } from './errors.js';
export { TypeBoxValidation, describeViolations } from './TypeBoxValidation.js';
