package objstore_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"

	"github.com/arangobackup/godump/objstore"
)

// Writing a dump file and reading it back. (Not run: it needs a store.)
func Example() {
	ctx := context.Background()
	loc, err := objstore.ParseURL("s3://backups/nightly/2026-12-03")
	if err != nil {
		log.Fatal(err)
	}
	// Credentials and region from the AWS environment; a non-AWS store needs
	// the endpoint.
	st, err := objstore.Open(ctx, loc, objstore.Config{Endpoint: os.Getenv("S3_ENDPOINT")})
	if err != nil {
		log.Fatal(err) // names ErrUnreachable, ErrCredentials or ErrNoBucket
	}
	db := st.Sub("_system")

	u, err := db.Create(ctx, "users_3b2c.data.json.gz")
	if err != nil {
		log.Fatal(err)
	}
	defer u.Abort() // no-op after Commit; after a failure, removes the parts
	if _, err := io.Copy(u, os.Stdin); err != nil {
		log.Fatal(err)
	}
	size, sum, err := u.Commit() // the object appears now, whole
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(size, sum) // for the manifest

	if err := db.WriteFile(ctx, "users.structure.json", []byte(`{}`)); err != nil {
		log.Fatal(err)
	}

	// Reading through io/fs, as from a dump directory.
	fsys := st.FS(ctx)
	ents, err := fs.ReadDir(fsys, "_system")
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range ents {
		fmt.Println(e.Name())
	}
}
