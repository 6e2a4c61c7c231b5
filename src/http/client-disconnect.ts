// The abort reason used when a client goes away before its answer is ready. It is not a
// DiffguardError: there is nobody left to answer, so it maps to no status and is not an error
// worth logging (the request line says 499).

export class ClientDisconnectedError extends Error {
  constructor() {
    super('The client disconnected before the answer was ready');
    this.name = 'ClientDisconnectedError';
  }
}
