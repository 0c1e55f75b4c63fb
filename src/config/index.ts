/** Configuration: one schema, one defaults object, validated at start-up and frozen. */
export { loadConfig, ConfigError, ENV_VARS, type LoadConfigOptions, type ConfigOverrides } from './loadConfig.js';
export { ConfigSchema, type Config } from './schema.js';
export { DEFAULTS } from './defaults.js';
export { deploymentMode, DEMO_BY_DEFAULT, type DeploymentMode } from './deploymentMode.js';
