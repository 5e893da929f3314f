import packageJson from '../package.json';

/** Client product name and version, sent to the broker in the connection's client properties. */
export const PRODUCT = { name: 'Warren', version: packageJson.version };
