// `import { Ajv2020 } from 'ajv/dist/2020.js'`, loaded when conf first builds a validator (on-first-use.js).
import { lazyModule } from './on-first-use.js';

const ajv = lazyModule('ajv/dist/2020.js');
export function Ajv2020(...args) {
  return new ajv.Ajv2020(...args);
}
