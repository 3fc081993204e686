from pydcom.cli import main

raise SystemExit(main())
