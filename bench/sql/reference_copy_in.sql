copy {target} from stdin (format binary)
