from astapa.cli import main

raise SystemExit(main())
