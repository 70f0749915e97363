export { createPersonasClient, type PersonasClient, type PersonasClientOptions } from './client';
export { PersonasError } from './errors';
