import COpenBLAS

/// OpenBLAS's worker-thread count (wraps `openblas_set_num_threads` / `openblas_get_num_threads`).
public enum BLASThreads {
    public static var count: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}
