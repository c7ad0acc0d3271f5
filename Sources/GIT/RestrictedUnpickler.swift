/// A pickle reader that accepts only what a PyTorch state dict holds and never runs anything: the protocol-2..5
/// opcodes for dicts, tuples, lists, strings, numbers and memo, and only the globals `collections.OrderedDict`,
/// `torch._utils._rebuild_tensor_v2` and the `torch.*Storage` types. Any other global (`os.system`,
/// `builtins.eval`, …) or opcode stops reading with an error naming it, before anything could be called — nothing
/// is ever called: the two allowed callables are interpreted, not looked up.
struct RestrictedUnpickler {
    /// A storage the pickle refers to by persistent id: `('storage', torch.FloatStorage, '0', 'cpu', numel)`.
    struct StorageRef: Equatable {
        var dtype: TorchDType
        var key: String
        var count: Int
    }

    /// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)`.
    struct TensorRef {
        var storage: StorageRef
        var offset: Int
        var shape: [Int]
        var strides: [Int]
    }

    indirect enum Value {
        case none
        case bool(Bool)
        case int(Int)
        case float(Double)
        case string(String)
        case bytes(Int)
        case tuple([Value])
        case list([Value])
        case dict([(Value, Value)])
        case global(String)
        case storage(StorageRef)
        case tensor(TensorRef)
        case mark
    }

    struct Refused: Error {
        var problem: String
    }

    static let allowedGlobals: Set<String> = ["collections.OrderedDict", "torch._utils._rebuild_tensor_v2"]

    /// Runs the pickle `data` and returns the state dict: name → tensor reference.
    static func stateDict(_ data: UnsafeRawBufferPointer) throws(Refused) -> [String: TensorRef] {
        var reader = RestrictedUnpickler(data: data)
        let result = try reader.run()
        guard case .dict(let items) = result else { throw Refused(problem: "data.pkl does not hold a dict of tensors") }
        var tensors: [String: TensorRef] = [:]
        for (key, value) in items {
            guard case .string(let name) = key else { throw Refused(problem: "data.pkl has a non-string key") }
            guard case .tensor(let tensor) = value else { continue }  // e.g. nested dicts of metadata
            tensors[name] = tensor
        }
        return tensors
    }

    /// A value on the stack or in the memo, with how many containers deep it nests.
    struct Entry {
        var value: Value
        var depth: Int
    }

    /// The deepest nesting accepted: a state dict holds tuples in a dict (in an `OrderedDict`'s reduce arguments).
    static let maxDepth = 100

    let data: UnsafeRawBufferPointer
    var position = 0
    var stack: [Entry] = []
    var memo: [Int: Entry] = [:]

    init(data: UnsafeRawBufferPointer) { self.data = data }

    // MARK: - Reading

    mutating func byte() throws(Refused) -> UInt8 {
        guard position < data.count else { throw Refused(problem: "data.pkl ends early (truncated?)") }
        position += 1
        return data[position - 1]
    }

    mutating func integer(_ bytes: Int, signed: Bool = false) throws(Refused) -> Int {
        guard bytes <= data.count - position else { throw Refused(problem: "data.pkl ends early (truncated?)") }
        var value: UInt64 = 0
        for i in 0..<bytes { value |= UInt64(data[position + i]) << (8 * UInt64(i)) }
        position += bytes
        if signed && bytes < 8 && value & (1 << (8 * UInt64(bytes) - 1)) != 0 {
            return Int(Int64(bitPattern: value | ~((1 << (8 * UInt64(bytes))) - 1)))
        }
        guard value <= UInt64(Int.max) || signed else { throw Refused(problem: "data.pkl has an integer out of range") }
        return Int(Int64(bitPattern: value))
    }

    mutating func text(_ count: Int) throws(Refused) -> String {
        guard count >= 0, count <= data.count - position else {
            throw Refused(problem: "data.pkl ends early (truncated?)")
        }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: data[position..<(position + count)]), as: UTF8.self)
        position += count
        return s
    }

    mutating func line() throws(Refused) -> String {
        var end = position
        while end < data.count && data[end] != 0x0A { end += 1 }
        guard end < data.count, end - position < 256 else { throw Refused(problem: "data.pkl ends early (truncated?)") }
        let s = try text(end - position)
        position += 1
        return s
    }

    mutating func pop() throws(Refused) -> Value { try popEntry().value }

    mutating func popEntry() throws(Refused) -> Entry {
        guard let entry = stack.popLast() else { throw Refused(problem: "data.pkl pops an empty stack (corrupt)") }
        return entry
    }

    /// The values above the topmost mark and the deepest nesting among them, removing the mark.
    mutating func popMarkWithDepth() throws(Refused) -> (items: [Value], depth: Int) {
        guard let index = stack.lastIndex(where: { if case .mark = $0.value { true } else { false } }) else {
            throw Refused(problem: "data.pkl has no MARK where one is needed (corrupt)")
        }
        let entries = stack[(index + 1)...]
        let result = (entries.map(\.value), entries.map(\.depth).max() ?? 0)
        stack.removeSubrange(index...)
        return result
    }
}
