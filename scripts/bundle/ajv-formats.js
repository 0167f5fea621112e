// `import ajvFormats from 'ajv-formats'`, loaded when conf first builds a validator (on-first-use.js).
import { lazyModule } from './on-first-use.js';

export default lazyModule('ajv-formats');
