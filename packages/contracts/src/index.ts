export * from './checks.js';
export * from './services.js';
export * from './events.js';
export * from './health.js';
export * from './errors.js';
export * from './notifications.js';
export * from './alerts.js';
export * from './metrics.js';
