// VLMPublish: see the module's files.
import CMosquitto
