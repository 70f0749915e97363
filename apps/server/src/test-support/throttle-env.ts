/**
 * Tests register and fail logins from one address (127.0.0.1) far more than any client would:
 * test servers start with the per-address throttles out of the way. A test of those throttles
 * sets its own (smaller) limits, which win.
 */
export const UNTHROTTLED_ADDRESS_ENV = {
  REGISTER_MAX_PER_ADDRESS: '1000000',
  LOGIN_MAX_FAILURES_PER_ADDRESS: '1000000',
};
