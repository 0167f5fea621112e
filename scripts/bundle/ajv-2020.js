// `import { Ajv2020 } from 'ajv/dist/2020.js'`, loaded when conf first builds a validator (lazy-require.js).
import { lazyModule } from './lazy-require.js';

const ajv = lazyModule('ajv/dist/2020.js');
export function Ajv2020(...args) {
  return new ajv.Ajv2020(...args);
}
