// VLMVideo: see the module's files.
import CFFmpeg
