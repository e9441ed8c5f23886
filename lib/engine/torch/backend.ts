// The tfjs backend "torch": tensors live in libtorch memory (CPU or CUDA) and every kernel is
// one call into the addon. Data ids map to addon slots with tfjs's reference counting (shared by
// Identity and same-dtype Cast, as the cpu backend shares them); reading copies out, disposing
// frees the slot at once, and `memory()` reports the addon's live tensors and the bytes of the
// storages they hold.
import { tf } from "../tf.js";
import type { DataType, TensorInfo } from "../tf.js";
import { UnpairedError } from "../../util/errors.js";
import { DTYPE_CODE, DTYPE_NAME, type TorchAddon } from "./native.js";

interface TorchData {
  slot: number;
  dtype: DataType;
  refCount: number;
}

type DataId = object;

function dtypeCode(dtype: DataType): number {
  const c = (DTYPE_CODE as Record<string, number>)[dtype];
  if (c === undefined) {
    throw new UnpairedError("KERNEL_UNSUPPORTED", `the torch backend holds float32, int32 and bool tensors, not ${dtype}; run with UNPAIRED_BACKEND=cpu for ${dtype} data.`);
  }
  return c;
}

export class TorchBackend extends tf.KernelBackend {
  readonly native: TorchAddon;
  private readonly data: tf.DataStorage<TorchData>;
  private readonly scratch: Int32Array;
  private nextId = 0;

  constructor(native: TorchAddon) {
    super();
    this.native = native;
    this.scratch = new Int32Array(native.scratch());
    this.data = new tf.DataStorage(this, tf.engine());
  }

  // --- storage ---------------------------------------------------------------------------

  override write(values: tf.backend_util.BackendValues | null, shape: number[], dtype: DataType): DataId {
    const dataId = { id: this.nextId++ };
    this.data.set(dataId, { slot: this.upload(values, shape, dtype), dtype, refCount: 1 });
    return dataId;
  }

  override move(dataId: DataId, values: tf.backend_util.BackendValues | null, shape: number[], dtype: DataType, refCount: number): void {
    this.data.set(dataId, { slot: this.upload(values, shape, dtype), dtype, refCount });
  }

  private upload(values: tf.backend_util.BackendValues | null, shape: number[], dtype: DataType): number {
    const code = dtypeCode(dtype);
    if (values == null) return this.native.fill(shape, 0, code);
    if (Array.isArray(values)) {
      throw new UnpairedError("KERNEL_UNSUPPORTED", "the torch backend cannot hold string tensors; run with UNPAIRED_BACKEND=cpu for strings.");
    }
    return this.native.fromData(values as ArrayBufferView, shape, code);
  }

  override readSync(dataId: DataId): tf.backend_util.BackendValues {
    return this.native.read(this.data.get(dataId)!.slot);
  }

  override async read(dataId: DataId): Promise<tf.backend_util.BackendValues> {
    return this.readSync(dataId);
  }

  override refCount(dataId: DataId): number {
    return this.data.has(dataId) ? this.data.get(dataId)!.refCount : 0;
  }

  override incRef(dataId: DataId): void {
    this.data.get(dataId)!.refCount++;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const d = this.data.get(dataId)!;
    d.refCount--;
    if (!force && d.refCount > 0) return false;
    this.native.free(d.slot);
    this.data.delete(dataId);
    return true;
  }

  override numDataIds(): number {
    return this.data.numDataIds();
  }

  override memory(): { unreliable: boolean; nativeTensors: number; nativeBytes: number; nativePeakBytes: number } {
    const m = this.native.memory();
    return { unreliable: false, nativeTensors: m.tensors, nativeBytes: m.bytes, nativePeakBytes: m.peakBytes };
  }

  override async time(f: () => void): Promise<tf.BackendTimingInfo> {
    this.native.synchronize();
    const t0 = performance.now();
    f();
    this.native.synchronize();
    return { kernelMs: performance.now() - t0 };
  }

  override floatPrecision(): 16 | 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override dispose(): void {
    // Slots are freed by disposeData; the addon's memory goes with the process.
  }

  // --- kernel helpers --------------------------------------------------------------------

  /** The addon slot of a kernel input (moving it here from another backend if needed). */
  slot(t: TensorInfo): number {
    return this.data.get(t.dataId)!.slot;
  }

  /** Wraps the slot an op just returned as a kernel output, with the dtype and shape the
   * addon wrote into the scratch buffer. */
  out(slot: number): TensorInfo {
    const s = this.scratch;
    const dtype = DTYPE_NAME[s[0]!]!;
    const nd = s[1]!;
    const shape = new Array<number>(nd);
    for (let i = 0; i < nd; i++) shape[i] = s[2 + i]!;
    const dataId = { id: this.nextId++ };
    this.data.set(dataId, { slot, dtype, refCount: 1 });
    return { dataId, shape, dtype };
  }

  /** A kernel output for a slot whose shape is known (multi-output ops). */
  outWith(slot: number, shape: number[], dtype: DataType): TensorInfo {
    const dataId = { id: this.nextId++ };
    this.data.set(dataId, { slot, dtype, refCount: 1 });
    return { dataId, shape, dtype };
  }

  /** The same data under a new tensor (Identity, Cast to its own dtype). */
  share(x: TensorInfo): TensorInfo {
    this.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }
}
