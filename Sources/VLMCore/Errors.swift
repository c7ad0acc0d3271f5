/// An error meant for the person at the terminal: `description` is one line that names the thing that is wrong
/// and what to do about it. The CLI prints it as `error: <description>` and exits non-zero.
public protocol UserFacingError: Error, CustomStringConvertible {}
