// A fault at every remote command of a --rollback: fail it, cut the connection once it ran, SIGKILL the client as it
// is sent. See crash-matrix.ts for what each case asserts; the two actions are two files, so they run side by side.
import { crashMatrix } from './crash-matrix.js';

crashMatrix('rollback');
