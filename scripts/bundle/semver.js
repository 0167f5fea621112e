// `import semver from 'semver'`, loaded when conf first runs migrations (on-first-use.js).
import { lazyModule } from './on-first-use.js';

export default lazyModule('semver');
