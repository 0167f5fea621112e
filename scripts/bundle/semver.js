// `import semver from 'semver'`, loaded when conf first runs migrations (lazy-require.js).
import { lazyModule } from './lazy-require.js';

export default lazyModule('semver');
