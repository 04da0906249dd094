/* Raw DuckDB through its C API: the peer performance.md names for W3/W4 ("raw
 * DuckDB C API on the same data (npm libduckdb)"), the same libduckdb.so that
 * finlake links, so the gap to it is finlake's own layer.
 *
 *   peer_capi SQL_FILE REPEAT [SETUP_FILE]
 *
 * Runs the statements of SETUP_FILE once (views over the files, untimed), then
 * the one statement in SQL_FILE REPEAT times, on one in-memory database
 * (TimeZone UTC and the Parquet metadata cache on, as in finlake's engine) and
 * prints one JSON line: {"times": [seconds...], "rows": [[text...]...]} with the
 * first run's rows, every cell as DuckDB casts it to text (null as null).
 * Built by bench/scan_bench.py with the C compiler; not part of finlake. */
#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double Now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void PrintJsonString(const char* text) {
  putchar('"');
  for (const char* p = text; *p; ++p) {
    if (*p == '"' || *p == '\\') {
      putchar('\\');
      putchar(*p);
    } else if ((unsigned char)*p < 0x20) {
      printf("\\u%04x", *p);
    } else {
      putchar(*p);
    }
  }
  putchar('"');
}

static char* ReadFile(const char* path) {
  FILE* file = fopen(path, "rb");
  if (file == NULL) return NULL;
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  char* text = malloc((size_t)size + 1);
  size_t read = fread(text, 1, (size_t)size, file);
  text[read] = '\0';
  fclose(file);
  return text;
}

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: %s SQL_FILE REPEAT [SETUP_FILE]\n", argv[0]);
    return 2;
  }
  char* sql = ReadFile(argv[1]);
  int repeat = atoi(argv[2]);
  if (sql == NULL || repeat < 1) {
    fprintf(stderr, "peer_capi: cannot read %s, or REPEAT < 1\n", argv[1]);
    return 2;
  }
  duckdb_database database;
  duckdb_connection connection;
  if (duckdb_open(NULL, &database) != DuckDBSuccess || duckdb_connect(database, &connection) != DuckDBSuccess) {
    fprintf(stderr, "peer_capi: cannot open DuckDB\n");
    return 1;
  }
  const char* setup[] = {"SET TimeZone = 'UTC'", "SET parquet_metadata_cache = true"};
  for (size_t i = 0; i < sizeof setup / sizeof setup[0]; ++i) duckdb_query(connection, setup[i], NULL);
  if (argc == 4) {
    char* statements = ReadFile(argv[3]);
    duckdb_result result;
    if (statements == NULL || duckdb_query(connection, statements, &result) != DuckDBSuccess) {
      fprintf(stderr, "peer_capi: setup %s: %s\n", argv[3], statements ? duckdb_result_error(&result) : "unreadable");
      return 1;
    }
    duckdb_destroy_result(&result);
    free(statements);
  }
  printf("{\"times\": [");
  for (int run = 0; run < repeat; ++run) {
    duckdb_result result;
    double start = Now();
    if (duckdb_query(connection, sql, &result) != DuckDBSuccess) {
      fprintf(stderr, "peer_capi: %s\n", duckdb_result_error(&result));
      return 1;
    }
    printf("%s%.6f", run ? ", " : "", Now() - start);
    if (run + 1 < repeat) {
      duckdb_destroy_result(&result);
      continue;
    }
    printf("], \"rows\": [");
    idx_t columns = duckdb_column_count(&result), rows = duckdb_row_count(&result);
    for (idx_t r = 0; r < rows; ++r) {
      printf("%s[", r ? ", " : "");
      for (idx_t c = 0; c < columns; ++c) {
        if (c) printf(", ");
        if (duckdb_value_is_null(&result, c, r)) {
          printf("null");
          continue;
        }
        char* text = duckdb_value_varchar(&result, c, r);
        PrintJsonString(text);
        duckdb_free(text);
      }
      printf("]");
    }
    printf("]}\n");
    duckdb_destroy_result(&result);
  }
  duckdb_disconnect(&connection);
  duckdb_close(&database);
  free(sql);
  return 0;
}
