extension RestrictedUnpickler {
    /// Interprets opcodes until STOP.
    mutating func run() throws(Refused) -> Value {
        while true {
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()  // PROTO n
            case 0x95: _ = try integer(8)  // FRAME length (framing is only a hint)
            case 0x2E: return try pop()  // STOP
            case 0x4E: stack.append(.none)  // NONE
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case 0x4B: stack.append(.int(try integer(1)))  // BININT1
            case 0x4D: stack.append(.int(try integer(2)))  // BININT2
            case 0x4A: stack.append(.int(try integer(4, signed: true)))  // BININT
            case 0x8A:  // LONG1
                let n = try integer(1)
                guard n <= 8 else { throw Refused(problem: "data.pkl has an integer wider than 64 bits") }
                stack.append(.int(n == 0 ? 0 : try integer(n, signed: true)))
            case 0x47:  // BINFLOAT (big-endian double)
                var bits: UInt64 = 0
                for _ in 0..<8 { bits = bits << 8 | UInt64(try byte()) }
                stack.append(.float(Double(bitPattern: bits)))
            case 0x58: stack.append(.string(try text(try integer(4))))  // BINUNICODE
            case 0x8C: stack.append(.string(try text(try integer(1))))  // SHORT_BINUNICODE
            case 0x43: stack.append(.bytes(try text(try integer(1)).utf8.count))  // SHORT_BINBYTES
            case 0x28: stack.append(.mark)  // MARK
            case 0x29: stack.append(.tuple([]))  // EMPTY_TUPLE
            case 0x5D: stack.append(.list([]))  // EMPTY_LIST
            case 0x7D: stack.append(.dict([]))  // EMPTY_DICT
            case 0x74: stack.append(.tuple(try popMark()))  // TUPLE
            case 0x85: stack.append(.tuple([try pop()]))  // TUPLE1
            case 0x86:  // TUPLE2
                let b = try pop()
                stack.append(.tuple([try pop(), b]))
            case 0x87:  // TUPLE3
                let c = try pop()
                let b = try pop()
                stack.append(.tuple([try pop(), b, c]))
            case 0x71: memo[try integer(1)] = try top()  // BINPUT
            case 0x72: memo[try integer(4)] = try top()  // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()  // MEMOIZE
            case 0x68, 0x6A:  // BINGET, LONG_BINGET
                let index = try integer(op == 0x68 ? 1 : 4)
                guard let value = memo[index] else {
                    throw Refused(problem: "data.pkl reads memo \(index) before setting it")
                }
                stack.append(value)
            case 0x73:  // SETITEM
                let value = try pop()
                let key = try pop()
                try setItems([(key, value)])
            case 0x75:  // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0 else { throw Refused(problem: "data.pkl SETITEMS has an odd count") }
                try setItems(stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) })
            case 0x61:  // APPEND
                let value = try pop()
                try append([value])
            case 0x65: try append(try popMark())  // APPENDS
            case 0x63:  // GLOBAL "module\nname\n"
                let module = try line()
                stack.append(try global(module, try line()))
            case 0x93:  // STACK_GLOBAL
                let name = try pop()
                let module = try pop()
                guard case .string(let m) = module, case .string(let n) = name else {
                    throw Refused(problem: "data.pkl STACK_GLOBAL without strings")
                }
                stack.append(try global(m, n))
            case 0x51:  // BINPERSID
                stack.append(try persistent(try pop()))
            case 0x52:  // REDUCE
                let arguments = try pop()
                stack.append(try reduce(try pop(), arguments))
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

    func top() throws(Refused) -> Value {
        guard let value = stack.last else { throw Refused(problem: "data.pkl reads an empty stack (corrupt)") }
        return value
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

    mutating func setItems(_ items: [(Value, Value)]) throws(Refused) {
        guard case .dict(var existing) = try pop() else { throw Refused(problem: "data.pkl SETITEMS on a non-dict") }
        existing += items
        stack.append(.dict(existing))
    }

    mutating func append(_ items: [Value]) throws(Refused) {
        guard case .list(var existing) = try pop() else { throw Refused(problem: "data.pkl APPENDS on a non-list") }
        existing += items
        stack.append(.list(existing))
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
