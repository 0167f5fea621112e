// `import ajvFormats from 'ajv-formats'`, loaded when conf first builds a validator (lazy-require.js).
import { lazyModule } from './lazy-require.js';

export default lazyModule('ajv-formats');
