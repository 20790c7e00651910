// Loads a module only to read its definition (for `generate` and `describe`): no datastore,
// every syscall fails as it would during module initialisation.
import { bundleModule } from './bundle';
import { buildCatalog, type Catalog } from './catalog';
import { decodeRawModuleDef } from './rawdef';
import { evaluateModule, SYSCALLS_2_0, SYSCALLS_2_1, type SyscallImpl } from './realm';

export async function loadModuleCatalog(pathOrFolder: string): Promise<Catalog> {
  const bundle = await bundleModule(pathOrFolder);
  const sys = {} as SyscallImpl;
  for (const name of [...SYSCALLS_2_0, ...SYSCALLS_2_1]) {
    sys[name] = () => {
      throw new Error('cannot call this function during module initialization');
    };
  }
  sys.console_log = () => undefined;
  const realm = evaluateModule(bundle, sys);
  return buildCatalog(decodeRawModuleDef(realm.hooks.__describe_module__()));
}
