extension RestrictedUnpickler {
    /// Interprets opcodes until STOP.
    mutating func run() throws(Refused) -> Value {
        while true {
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()  // PROTO n
            case 0x95: _ = try integer(8)  // FRAME length (framing is only a hint)
            case 0x2E: return try pop()  // STOP
            case 0x4E: try push(.none)  // NONE
            case 0x88: try push(.bool(true))  // NEWTRUE
            case 0x89: try push(.bool(false))  // NEWFALSE
            case 0x4B: try push(.int(try integer(1)))  // BININT1
            case 0x4D: try push(.int(try integer(2)))  // BININT2
            case 0x4A: try push(.int(try integer(4, signed: true)))  // BININT
            case 0x8A:  // LONG1
                let n = try integer(1)
                guard n <= 8 else { throw Refused(problem: "data.pkl has an integer wider than 64 bits") }
                try push(.int(n == 0 ? 0 : try integer(n, signed: true)))
            case 0x47:  // BINFLOAT (big-endian double)
                var bits: UInt64 = 0
                for _ in 0..<8 { bits = bits << 8 | UInt64(try byte()) }
                try push(.float(Double(bitPattern: bits)))
            case 0x58: try push(.string(try text(try integer(4))))  // BINUNICODE
            case 0x8C: try push(.string(try text(try integer(1))))  // SHORT_BINUNICODE
            case 0x43: try push(.bytes(try text(try integer(1)).utf8.count))  // SHORT_BINBYTES
            case 0x28: try push(.mark)  // MARK
            case 0x29: try push(.tuple([]), depth: 1)  // EMPTY_TUPLE
            case 0x5D: try push(.list([]), depth: 1)  // EMPTY_LIST
            case 0x7D: try push(.dict([]), depth: 1)  // EMPTY_DICT
            case 0x74:  // TUPLE
                let (items, depth) = try popMarkWithDepth()
                try push(.tuple(items), depth: depth + 1)
            case 0x85:  // TUPLE1
                let a = try popEntry()
                try push(.tuple([a.value]), depth: a.depth + 1)
            case 0x86:  // TUPLE2
                let b = try popEntry()
                let a = try popEntry()
                try push(.tuple([a.value, b.value]), depth: max(a.depth, b.depth) + 1)
            case 0x87:  // TUPLE3
                let c = try popEntry()
                let b = try popEntry()
                let a = try popEntry()
                try push(.tuple([a.value, b.value, c.value]), depth: max(a.depth, b.depth, c.depth) + 1)
            case 0x71: memo[try integer(1)] = try topEntry()  // BINPUT
            case 0x72: memo[try integer(4)] = try topEntry()  // LONG_BINPUT
            case 0x94: memo[memo.count] = try topEntry()  // MEMOIZE
            case 0x68, 0x6A:  // BINGET, LONG_BINGET
                let index = try integer(op == 0x68 ? 1 : 4)
                guard let entry = memo[index] else {
                    throw Refused(problem: "data.pkl reads memo \(index) before setting it")
                }
                try push(entry.value, depth: entry.depth)
            case 0x73:  // SETITEM
                let value = try popEntry()
                let key = try popEntry()
                try setItems([(key.value, value.value)], depth: max(key.depth, value.depth))
            case 0x75:  // SETITEMS
                let (items, depth) = try popMarkWithDepth()
                guard items.count % 2 == 0 else { throw Refused(problem: "data.pkl SETITEMS has an odd count") }
                try setItems(stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }, depth: depth)
            case 0x61:  // APPEND
                let value = try popEntry()
                try append([value.value], depth: value.depth)
            case 0x65:  // APPENDS
                let (items, depth) = try popMarkWithDepth()
                try append(items, depth: depth)
            case 0x63:  // GLOBAL "module\nname\n"
                let module = try line()
                try push(try global(module, try line()))
            case 0x93:  // STACK_GLOBAL
                let name = try pop()
                let module = try pop()
                guard case .string(let m) = module, case .string(let n) = name else {
                    throw Refused(problem: "data.pkl STACK_GLOBAL without strings")
                }
                try push(try global(m, n))
            case 0x51:  // BINPERSID
                try push(try persistent(try pop()))
            case 0x52:  // REDUCE
                let arguments = try pop()
                try push(try reduce(try pop(), arguments), depth: 1)
            case 0x62:  // BUILD: only a dict's attribute state (OrderedDict._metadata), which is dropped
                let state = try pop()
                guard case .dict = try top(), case .dict = state else {
                    throw Refused(problem: "data.pkl uses BUILD on something other than a dict")
                }
            default:
                throw Refused(
                    problem: "data.pkl uses pickle opcode 0x\(String(op, radix: 16)), which a state dict "
                        + "does not need; refused")
            }
        }
    }

    func top() throws(Refused) -> Value { try topEntry().value }

    func topEntry() throws(Refused) -> Entry {
        guard let entry = stack.last else { throw Refused(problem: "data.pkl reads an empty stack (corrupt)") }
        return entry
    }

    /// Pushes `value`, which nests `depth` containers deep. A state dict nests a few; a hostile pickle of a million
    /// nested tuples would overflow the thread's stack when the values are freed, one recursive release each.
    mutating func push(_ value: Value, depth: Int = 0) throws(Refused) {
        guard depth <= Self.maxDepth else {
            throw Refused(
                problem: "data.pkl nests containers deeper than \(Self.maxDepth) levels (a state dict needs a few)")
        }
        stack.append(Entry(value: value, depth: depth))
    }

    /// A global by name: refused unless it is one a state dict uses.
    func global(_ module: String, _ name: String) throws(Refused) -> Value {
        let full = "\(module).\(name)"
        if Self.allowedGlobals.contains(full) || (module == "torch" && TorchDType(storage: name) != nil) {
            return .global(full)
        }
        throw Refused(
            problem: "refused global \(full) (only collections.OrderedDict, "
                + "torch._utils._rebuild_tensor_v2 and torch.*Storage are allowed; nothing was run)")
    }

    /// Adds `items`, nesting `depth` deep, to the dict on top.
    mutating func setItems(_ items: [(Value, Value)], depth: Int) throws(Refused) {
        let dict = try popEntry()
        guard case .dict(var existing) = dict.value else { throw Refused(problem: "data.pkl SETITEMS on a non-dict") }
        existing += items
        try push(.dict(existing), depth: max(dict.depth, depth + 1))
    }

    /// Adds `items`, nesting `depth` deep, to the list on top.
    mutating func append(_ items: [Value], depth: Int) throws(Refused) {
        let list = try popEntry()
        guard case .list(var existing) = list.value else { throw Refused(problem: "data.pkl APPENDS on a non-list") }
        existing += items
        try push(.list(existing), depth: max(list.depth, depth + 1))
    }

    /// `('storage', torch.XStorage, key, location, numel)`.
    func persistent(_ id: Value) throws(Refused) -> Value {
        guard case .tuple(let parts) = id, parts.count == 5, case .string("storage") = parts[0],
            case .global(let type) = parts[1], case .string(let key) = parts[2], case .int(let count) = parts[4],
            let dtype = TorchDType(storage: String(type.dropFirst("torch.".count))), count >= 0
        else { throw Refused(problem: "data.pkl has a persistent id that is not a torch storage") }
        return .storage(StorageRef(dtype: dtype, key: key, count: count))
    }

    /// The two callables a state dict uses, interpreted.
    func reduce(_ callable: Value, _ arguments: Value) throws(Refused) -> Value {
        guard case .global(let name) = callable, case .tuple(let args) = arguments else {
            throw Refused(problem: "data.pkl calls something that is not an allowed global")
        }
        switch name {
        case "collections.OrderedDict" where args.isEmpty:
            return .dict([])
        case "torch._utils._rebuild_tensor_v2" where args.count >= 4:
            guard case .storage(let storage) = args[0], case .int(let offset) = args[1],
                case .tuple(let sizes) = args[2], case .tuple(let strides) = args[3]
            else { throw Refused(problem: "data.pkl calls _rebuild_tensor_v2 with unexpected arguments") }
            let shape = sizes.compactMap { if case .int(let v) = $0 { v } else { nil } }
            let steps = strides.compactMap { if case .int(let v) = $0 { v } else { nil } }
            guard shape.count == sizes.count, steps.count == strides.count, shape.count == steps.count else {
                throw Refused(problem: "data.pkl has a tensor whose size or stride is not a tuple of integers")
            }
            return .tensor(TensorRef(storage: storage, offset: offset, shape: shape, strides: steps))
        default:
            throw Refused(problem: "data.pkl calls \(name) with arguments it does not take")
        }
    }
}
