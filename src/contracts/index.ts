/**
 * Contracts: names, schemas and errors shared by every part of Meridian.
 * Depends on nothing but TypeBox; everything else depends on it.
 */
export * from './errors.js';
export * from './actions.js';
export * from './schemas.js';
export * from './signaling.js';
export * from './meetingKeys.js';
export * from './participantName.js';
export * as Schemas from './schemas.js';
