/** The in-process session directory against the directory contract. */
import { LocalSessionDirectory } from '../../src/router/local-directory.js';
import { directoryContract } from './directory-contract.js';

directoryContract('LocalSessionDirectory', () => ({ directory: new LocalSessionDirectory('parley@test'), node: 'parley@test' }));
