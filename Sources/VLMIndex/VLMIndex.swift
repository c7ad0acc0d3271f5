// VLMIndex: see the module's files.
import GRDB
